//! The OpenAPI 3.1 document of the HTTP APIs the wire, live and black-box
//! tiers serve: the control plane (through the edge), the desired-state
//! service (direct), the cloud node-pool API and the admin endpoints.
//!
//! `cascade schema --openapi` prints it and `docs/openapi.json` is the
//! committed copy (`tests/harness/openapi.rs` fails when the two differ). The
//! component schemas are derived with `schemars` from the very documents
//! the servers and the agent driver (de)serialize ([`super::api`]):
//! request bodies as the servers read them (fields with a default may be
//! left out), answers as the servers write them (every field present). The
//! paths come from the same helpers the servers and the client use
//! ([`api::desired_state_path`], [`api::node_pools_path`],
//! [`api::cloud_call_route`]); the statuses are the ones
//! [`super::servers`] and [`super::http`] answer.

use super::api::{
    self, AcceptedDoc, CreatePoolDoc, DesiredStateDoc, ErrorDoc, FaultsDoc, FixDoc, NodePoolsDoc,
    RoutingDoc, RoutingVersionDoc, StatusDoc, BODY_BYTES_MAX, SET_BY_CHARS_MAX,
};
use crate::plant::cloud::CloudCall;
use crate::protocol::{ClusterId, PoolName, POOLS};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// The OpenAPI version the document is written in.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The document's `info.title` (how `cascade schema --out` recognises a
/// document it wrote).
pub const TITLE: &str = "cascade HTTP APIs";

/// The edge's routing switch (admin token).
pub const ADMIN_ROUTING_PATH: &str = "/admin/routing";
/// The edge's rollback to the routing that misroutes nobody (admin token).
pub const ADMIN_ROUTING_FIX_PATH: &str = "/admin/routing/fix";
/// The desired-state service's faults (admin token, not behind the edge).
pub const ADMIN_FAULTS_PATH: &str = "/admin/faults";
/// The black-box tier's clock and run (read only).
pub const ADMIN_STATUS_PATH: &str = "/admin/status";

/// Where component schemas live; the request-side generator writes its
/// references there directly.
const COMPONENTS: &str = "/components/schemas";
/// Where the answer-side generator writes its references until
/// [`Schemas::finish`] moves them into [`COMPONENTS`].
const REPLY_STAGING: &str = "/x-reply-schemas";

/// The OpenAPI 3.1 document (keys sorted: `serde_json`'s map is ordered).
pub fn document() -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Map::new();
    desired_state_paths(&mut paths, &mut schemas);
    cloud_paths(&mut paths, &mut schemas);
    admin_paths(&mut paths, &mut schemas);
    let mut doc = json!({
        "openapi": OPENAPI_VERSION,
        "info": info(),
        "servers": [server(Server::Edge)],
        "tags": tags(),
        "paths": paths,
        "components": {
            "headers": { "Retry-After": retry_after_header() },
            "parameters": parameters(),
            "responses": common_responses(&mut schemas),
            "securitySchemes": security_schemes(),
        },
    });
    let (components, renames) = schemas.finish();
    doc["components"]["schemas"] = Value::Object(components);
    rewrite_refs(&mut doc, &renames);
    name_pools(&mut doc);
    doc
}

/// The component schemas of both directions. A type whose answer schema
/// differs from its request schema (`FaultsDoc`: optional fields in,
/// every field out) is two components, the answer's named `…Reply`.
struct Schemas {
    request: SchemaGenerator,
    reply: SchemaGenerator,
}

impl Schemas {
    fn new() -> Schemas {
        let settings = |path: &str| {
            SchemaSettings::draft2020_12().with(|s| {
                s.definitions_path = path.to_string().into();
                s.meta_schema = None;
            })
        };
        Schemas {
            request: settings(COMPONENTS).for_deserialize().into_generator(),
            reply: settings(REPLY_STAGING).for_serialize().into_generator(),
        }
    }

    /// A reference to `T` as a request body.
    fn request<T: JsonSchema>(&mut self) -> Value {
        self.request.subschema_for::<T>().to_value()
    }

    /// A reference to `T` as an answer's body.
    fn reply<T: JsonSchema>(&mut self) -> Value {
        self.reply.subschema_for::<T>().to_value()
    }

    /// The components, and how each staged answer reference is renamed.
    fn finish(mut self) -> (Map<String, Value>, Vec<(String, String)>) {
        let mut components = self.request.take_definitions(true);
        let mut renames = Vec::new();
        for (name, schema) in self.reply.take_definitions(true) {
            let same = components.get(&name).is_none_or(|s| *s == schema);
            let target = if same {
                name.clone()
            } else {
                format!("{name}Reply")
            };
            renames.push((
                format!("#{REPLY_STAGING}/{name}"),
                format!("#{COMPONENTS}/{target}"),
            ));
            components.insert(target, schema);
        }
        (components, renames)
    }
}

/// Replaces every `$ref` that `renames` names, everywhere in `v`.
fn rewrite_refs(v: &mut Value, renames: &[(String, String)]) {
    match v {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(s) if key == "$ref" => {
                        if let Some((_, to)) = renames.iter().find(|(from, _)| from == s) {
                            *s = to.clone();
                        }
                    }
                    _ => rewrite_refs(item, renames),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_refs(i, renames)),
        _ => {}
    }
}

/// The pool names of the wire, in slot order, as the servers print them.
pub fn pool_names() -> Vec<String> {
    (0..POOLS)
        .map(|i| api::pool_name(PoolName::from_index(i)))
        .collect()
}

/// States the closed set of pool names on every field that holds one (the
/// documents carry them as strings).
fn name_pools(doc: &mut Value) {
    let names = json!(pool_names());
    for pointer in [
        "/components/schemas/DesiredPoolDoc/properties/name",
        "/components/schemas/PoolStateDoc/properties/name",
        "/components/schemas/DesiredStateDoc/properties/tombstones/items",
    ] {
        if let Some(Value::Object(node)) = doc.pointer_mut(pointer) {
            node.insert("enum".into(), names.clone());
        }
    }
}

/// A path of the helpers with the cluster `id` and the `pool` written as
/// OpenAPI templates.
fn template(path: &str, id: ClusterId, pool: Option<PoolName>) -> String {
    let id = id.to_string();
    let pool = pool.map(api::pool_name);
    path.split('/')
        .map(|segment| {
            if segment == id {
                "{id}"
            } else if pool.as_deref() == Some(segment) {
                "{pool}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A cluster id no real path segment equals by accident.
const TEMPLATE_ID: ClusterId = ClusterId::MAX;

/// The desired-state path as a template (`/v1/clusters/{id}/desired-state`).
pub fn desired_state_template() -> String {
    template(&api::desired_state_path(TEMPLATE_ID), TEMPLATE_ID, None)
}

/// The node-pool list as a template (`/v1/clusters/{id}/node-pools`).
pub fn node_pools_template() -> String {
    template(&api::node_pools_path(TEMPLATE_ID), TEMPLATE_ID, None)
}

/// The three mutating cloud calls: name, lower-case method and templated
/// path, as [`api::cloud_call_route`] builds them.
pub fn cloud_call_templates() -> Vec<(&'static str, String, String)> {
    let pool = PoolName::WorkerDefault;
    [
        ("create", CloudCall::Create { nodes: 1 }),
        ("scale-to-zero", CloudCall::ScaleToZero),
        ("delete", CloudCall::Delete),
    ]
    .into_iter()
    .map(|(name, call)| {
        let (method, path) = api::cloud_call_route(TEMPLATE_ID, pool, call);
        (
            name,
            method.to_ascii_lowercase(),
            template(&path, TEMPLATE_ID, Some(pool)),
        )
    })
    .collect()
}

/// The servers a path can be reached at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Edge,
    Service,
    Cloud,
}

fn server(which: Server) -> Value {
    let (port, description) = match which {
        Server::Edge => (
            "8080",
            "The control plane, through the edge: the public address (`cascade serve --listen`). \
             The edge routes the desired-state path per cluster; a misrouted cluster, and every \
             path the edge does not know, reaches its default backend, which answers 404 \
             (`default backend - 404`, text/plain).",
        ),
        Server::Service => (
            "8082",
            "The desired-state service itself, not behind the edge: the same desired-state path, \
             never misrouted, and `PUT /admin/faults`. An internal port on loopback: `cascade \
             serve` picks a free one; use the port the tier prints.",
        ),
        Server::Cloud => (
            "8081",
            "The cloud node-pool API (`cascade serve --cloud-listen`, by default the port after \
             `--listen`).",
        ),
    };
    json!({
        "url": "http://127.0.0.1:{port}",
        "description": description,
        "variables": { "port": { "default": port, "description": "The port (loopback only)." } },
    })
}

fn tags() -> Value {
    json!([
        { "name": "control-plane", "description": "The desired-state API through the edge: what agents poll." },
        { "name": "desired-state-service", "description": "The desired-state service reached directly: the same path, without the edge's routing." },
        { "name": "cloud", "description": "The cloud node-pool API: list, create, scale to zero, delete." },
        { "name": "admin", "description": "Routing switches on the edge, service faults, the black-box tier's status (admin token)." },
    ])
}

fn info() -> Value {
    let description = format!(
        "The simulated world's HTTP APIs as cascade's wire, live (`cascade serve`) and black-box \
         (`cascade blackbox`) tiers serve them, on loopback. Generated from the wire types \
         (`cascade schema --openapi`).\n\n\
         Every request carries `Authorization: Bearer <token>`. The token is checked before \
         the cluster id, so without a valid token every id answers 401 alike. Bodies are JSON, \
         at most {BODY_BYTES_MAX} bytes (more: 413); a server waits 30 s for a request's \
         headers and 30 s for its body (then 408), keeps at most 512 connections and serves \
         one request per connection. A method a path does not list answers 405 with an \
         `ErrorDoc`. Times are the scenario's clock: microseconds since the run's epoch (the \
         scenario's start); `Retry-After` is in seconds."
    );
    json!({ "title": TITLE, "version": env!("CARGO_PKG_VERSION"), "description": description })
}

fn security_schemes() -> Value {
    json!({
        "clusterToken": {
            "type": "http", "scheme": "bearer", "bearerFormat": "c<id>.<tag>",
            "description": "A cluster's token, `c<id>.<tag>` (the tag: 32 hex digits of an HMAC-SHA256 under the server's key). Valid for that cluster's desired state and node pools only: another cluster's token gets 403, a missing or unknown one 401.",
        },
        "recoveryToken": {
            "type": "http", "scheme": "bearer",
            "description": "The recovery token `cascade blackbox` issues: valid for every cluster's desired state and node pools (never 403), not for the admin endpoints.",
        },
        "adminToken": {
            "type": "http", "scheme": "bearer", "bearerFormat": "admin.<tag>",
            "description": "The admin token, `admin.<tag>`: routing switches, service faults, status. Missing or wrong: 401.",
        },
    })
}

fn cluster_security() -> Value {
    json!([{ "clusterToken": [] }, { "recoveryToken": [] }])
}

fn admin_security() -> Value {
    json!([{ "adminToken": [] }])
}

fn retry_after_header() -> Value {
    json!({
        "description": "Seconds to wait before the next call (an integer).",
        "schema": { "type": "integer", "minimum": 0 },
    })
}

fn parameters() -> Value {
    json!({
        "ClusterId": {
            "name": "id", "in": "path", "required": true,
            "description": "The cluster's id, 0 to the fleet's size less one (a larger one: 404, after the token check).",
            "schema": { "type": "integer", "format": "uint32", "minimum": 0, "maximum": ClusterId::MAX },
        },
        "PoolName": {
            "name": "pool", "in": "path", "required": true,
            "description": "The pool's name; any other answers 404 (`no such path`), before the token check.",
            "schema": { "type": "string", "enum": pool_names() },
        },
    })
}

/// An answer whose body is `schema` as JSON.
fn json_reply(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// An `ErrorDoc` answer.
fn error_reply(schemas: &mut Schemas, description: &str) -> Value {
    json_reply(description, schemas.reply::<ErrorDoc>())
}

/// A reference to a shared answer of [`common_responses`].
fn common(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn common_responses(schemas: &mut Schemas) -> Value {
    let mut out = Map::new();
    for (name, description) in [
        ("BadBody", "The body is not the JSON document the endpoint reads (`bad body: …`): unknown fields are refused."),
        ("Unauthorized", "The bearer token is missing or not valid here (`missing or unknown token`, `admin token required`)."),
        ("Forbidden", "A valid token of another cluster (`token of another cluster`)."),
        ("BodyTimeout", "The request's body did not arrive within 30 s."),
        ("BodyTooLarge", "The request's body is larger than the limit, or broken."),
    ] {
        out.insert(name.into(), error_reply(schemas, description));
    }
    let mut limited = error_reply(
        schemas,
        "Over the rate (`rate_limited`, `too many requests`): retry after `Retry-After` seconds.",
    );
    limited["headers"] = json!({ "Retry-After": { "$ref": "#/components/headers/Retry-After" } });
    out.insert("TooManyRequests".into(), limited);
    Value::Object(out)
}

/// Statuses every operation can give: the server reads each body (even a
/// GET's) under a time and size limit.
fn with_transport_errors(mut responses: Map<String, Value>) -> Value {
    responses.insert(
        "503".into(),
        json!({
            "description": "`cascade blackbox` only: the cluster's agent host is down (the world stopped its process: a process makes no requests while its host is gone), or the run is over. Not recorded in the history.",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorDoc" } } },
        }),
    );
    responses.insert("408".into(), common("BodyTimeout"));
    responses.insert("413".into(), common("BodyTooLarge"));
    Value::Object(responses)
}

fn desired_state_paths(paths: &mut Map<String, Value>, schemas: &mut Schemas) {
    let mut r = Map::new();
    r.insert(
        "200".into(),
        json_reply(
            "The cluster's desired state.",
            schemas.reply::<DesiredStateDoc>(),
        ),
    );
    r.insert("401".into(), common("Unauthorized"));
    r.insert("403".into(), common("Forbidden"));
    r.insert(
        "404".into(),
        json!({
            "description": "Through the edge, a misrouted cluster (or any path the edge does not route): the default backend's `default backend - 404` (text/plain). From the service: `unknown cluster` (an id past the fleet) or `not found`.",
            "content": {
                "application/json": { "schema": schemas.reply::<ErrorDoc>() },
                "text/plain": { "schema": { "type": "string", "examples": ["default backend - 404"] } },
            },
        }),
    );
    r.insert("429".into(), common("TooManyRequests"));
    r.insert(
        "500".into(),
        error_reply(
            schemas,
            "The service failed (`internal error`), as its faults' `server_error_ratio` makes it.",
        ),
    );
    r.insert(
        "502".into(),
        json!({ "description": "Through the edge only: the service could not be reached (`upstream unreachable`, text/plain).", "content": { "text/plain": { "schema": { "type": "string" } } } }),
    );
    r.insert(
        "504".into(),
        json!({
            "description": "The service timed out (`timed out`, after holding the request 120 s of the scenario's clock, as its faults' `timeout_ratio` makes it), or, through the edge, the service did not answer within the edge's route timeout (15 s of runtime, not of the scenario's clock) (`upstream timed out`, text/plain).",
            "content": {
                "application/json": { "schema": schemas.reply::<ErrorDoc>() },
                "text/plain": { "schema": { "type": "string" } },
            },
        }),
    );
    let get = json!({
        "operationId": "getDesiredState",
        "summary": "The pools a cluster should have.",
        "description": "What every agent polls. Only a 200 whose body parses is authoritative; the agent reads any other answer as a failure, never as `no desired pools`.",
        "tags": ["control-plane", "desired-state-service"],
        "security": cluster_security(),
        "responses": with_transport_errors(r),
    });
    paths.insert(
        desired_state_template(),
        json!({
            "servers": [server(Server::Edge), server(Server::Service)],
            "parameters": [{ "$ref": "#/components/parameters/ClusterId" }],
            "get": get,
        }),
    );
}

fn cloud_paths(paths: &mut Map<String, Value>, schemas: &mut Schemas) {
    let mut list = Map::new();
    list.insert(
        "200".into(),
        json_reply(
            "Every pool slot of the cluster, absent ones included.",
            schemas.reply::<NodePoolsDoc>(),
        ),
    );
    list.insert("401".into(), common("Unauthorized"));
    list.insert("403".into(), common("Forbidden"));
    list.insert(
        "404".into(),
        error_reply(
            schemas,
            "`unknown cluster` (an id past the fleet) or `no such path`.",
        ),
    );
    paths.insert(
        node_pools_template(),
        json!({
            "servers": [server(Server::Cloud)],
            "parameters": [{ "$ref": "#/components/parameters/ClusterId" }],
            "get": {
                "operationId": "listNodePools",
                "summary": "The cluster's node pools and their states.",
                "tags": ["cloud"],
                "security": cluster_security(),
                "responses": with_transport_errors(list),
            },
        }),
    );
    for (name, method, path) in cloud_call_templates() {
        let op = cloud_call_operation(name, schemas);
        let item = paths.entry(path).or_insert_with(|| {
            json!({
                "servers": [server(Server::Cloud)],
                "parameters": [
                    { "$ref": "#/components/parameters/ClusterId" },
                    { "$ref": "#/components/parameters/PoolName" },
                ],
            })
        });
        item[method.as_str()] = op;
    }
}

/// One mutating cloud call: accepted (202) or refused.
fn cloud_call_operation(name: &str, schemas: &mut Schemas) -> Value {
    let (operation_id, summary, conflict) = match name {
        "create" => ("createNodePool", "Creates the pool, or scales a present one to `nodes`.", "`conflict`: an operation on the pool is in flight, or the pool is already present with that many nodes."),
        "scale-to-zero" => ("scaleNodePoolToZero", "Scales the pool to zero nodes (the pool stays).", "`conflict`: an operation on the pool is in flight, or the pool is absent."),
        _ => ("deleteNodePool", "Deletes the pool.", "`locked`: the pool (`system`, `airflow`) carries a delete lock; `conflict`: an operation on the pool is in flight, or the pool is absent."),
    };
    let mut r = Map::new();
    r.insert(
        "202".into(),
        json_reply(
            "Accepted: the operation completes at `done_at_us`.",
            schemas.reply::<AcceptedDoc>(),
        ),
    );
    if name == "create" {
        r.insert("400".into(), common("BadBody"));
    }
    r.insert("401".into(), common("Unauthorized"));
    r.insert("403".into(), common("Forbidden"));
    r.insert("404".into(), error_reply(schemas, "`unknown cluster` (an id past the fleet) or `no such path` (a pool name the cloud does not have)."));
    r.insert("409".into(), error_reply(schemas, conflict));
    r.insert("429".into(), common("TooManyRequests"));
    let mut op = json!({
        "operationId": operation_id,
        "summary": summary,
        "description": "Mutating calls share the cluster's account's rate: past it, 429 with `Retry-After` (at least 1 s).",
        "tags": ["cloud"],
        "security": cluster_security(),
        "responses": with_transport_errors(r),
    });
    if name == "create" {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schemas.request::<CreatePoolDoc>() } } });
    }
    op
}

/// `200` with `body`, 401 without the admin token, and 400 for a bad body
/// where there is a body.
fn admin_operation(
    operation_id: &str,
    summary: &str,
    body: Option<Value>,
    ok: Value,
    bad: Option<Value>,
) -> Value {
    let mut r = Map::new();
    r.insert("200".into(), ok);
    if let Some(bad) = bad {
        r.insert("400".into(), bad);
    }
    r.insert("401".into(), common("Unauthorized"));
    let mut op = json!({
        "operationId": operation_id,
        "summary": summary,
        "tags": ["admin"],
        "security": admin_security(),
        "responses": with_transport_errors(r),
    });
    if let Some(schema) = body {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    op
}

fn admin_paths(paths: &mut Map<String, Value>, schemas: &mut Schemas) {
    let version = |s: &mut Schemas, d: &str| json_reply(d, s.reply::<RoutingVersionDoc>());
    let bad_routing = error_reply(schemas, "A bad body (`bad body: …`), or `misroute_ratio` outside 0 to 1 (`misroute_ratio: expected 0 to 1`).");
    let get = admin_operation(
        "getRouting",
        "The edge's current routing version.",
        None,
        version(schemas, "The current routing version."),
        None,
    );
    let put = admin_operation(
        "putRouting",
        &format!("Switches the edge to a new routing version (`set_by` kept to {SET_BY_CHARS_MAX} printable characters)."),
        Some(schemas.request::<RoutingDoc>()),
        version(schemas, "The new routing version."),
        Some(bad_routing),
    );
    paths.insert(
        ADMIN_ROUTING_PATH.into(),
        json!({ "servers": [server(Server::Edge)], "get": get, "put": put }),
    );
    let mut fix = admin_operation(
        "fixRouting",
        "Switches the edge to a routing version that misroutes nobody.",
        Some(schemas.request::<FixDoc>()),
        version(schemas, "The new routing version."),
        Some(common("BadBody")),
    );
    fix["requestBody"]["required"] = json!(false);
    paths.insert(
        ADMIN_ROUTING_FIX_PATH.into(),
        json!({ "servers": [server(Server::Edge)], "post": fix }),
    );
    let faults = admin_operation(
        "putFaults",
        "Sets the desired-state service's faults (ratios clamped to 0 to 1). Only on the service's own address: through the edge this path reaches the default backend (404).",
        Some(schemas.request::<FaultsDoc>()),
        json_reply("The faults as applied (clamped), not as asked.", schemas.reply::<FaultsDoc>()),
        Some(common("BadBody")),
    );
    paths.insert(
        ADMIN_FAULTS_PATH.into(),
        json!({ "servers": [server(Server::Service)], "put": faults }),
    );
    let status = admin_operation(
        "getStatus",
        "The black-box tier's clock and run (`cascade blackbox`; read only).",
        None,
        json_reply(
            "Where the simulated clock stands and what runs.",
            schemas.reply::<StatusDoc>(),
        ),
        None,
    );
    let mut status = status;
    // Open: on loopback, and it tells only the clock, the scenario's name and the seed.
    status["security"] = json!([]);
    if let Some(r) = status["responses"].as_object_mut() {
        r.remove("401");
    }
    paths.insert(ADMIN_STATUS_PATH.into(), json!({ "get": status }));
}
