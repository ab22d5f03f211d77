//! Small hand-written SVG charts.
//!
//! Why not a plotting crate: the report must be one self-contained HTML file
//! with inline SVG, no scripts, no fonts to fetch; the charts needed are
//! time-series lines, step lines and shaded bands on a shared nine-day axis.
//! That is about two hundred lines here, against a large dependency (plotters
//! pulls in font handling) whose SVG output would still need post-processing
//! to share an axis, bands and a legend style across charts.

use super::series::{Band, Marker};
use std::fmt::Write as _;

/// Colour-blind-safe palette (Okabe and Ito).
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// How a line is reduced to one value per pixel column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Peaks stay visible (counts of broken things).
    Max,
    /// Dips stay visible (availability).
    Min,
    Mean,
}

pub struct Line<'a> {
    pub name: String,
    pub color: &'a str,
    pub values: Vec<f64>,
    pub reduce: Reduce,
    pub dashed: bool,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    /// Minutes on the x axis (0 = the run's start).
    pub minutes: usize,
    /// Calendar label of each midnight (`Mar 18`), index = day.
    pub day_labels: Vec<String>,
    pub y_max: f64,
    /// Format y tick labels as percentages.
    pub percent: bool,
    pub bands: &'a [Band],
    pub markers: &'a [Marker],
    pub lines: Vec<Line<'a>>,
}

const W: f64 = 1000.0;
const H: f64 = 230.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 28.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn band_color(kind: &str) -> &'static str {
    match kind {
        "fault" => "rgba(213,94,0,0.16)",
        "incident" => "rgba(230,159,0,0.14)",
        "freeze" => "rgba(100,100,100,0.10)",
        _ => "rgba(0,114,178,0.10)",
    }
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn reduce(values: &[f64], cols: usize, how: Reduce) -> Vec<Option<f64>> {
    let n = values.len();
    (0..cols)
        .map(|c| {
            let a = c * n / cols;
            let b = ((c + 1) * n / cols).max(a + 1).min(n);
            let s = values.get(a..b)?;
            if s.is_empty() {
                return None;
            }
            Some(match how {
                Reduce::Max => s.iter().copied().fold(f64::MIN, f64::max),
                Reduce::Min => s.iter().copied().fold(f64::MAX, f64::min),
                Reduce::Mean => s.iter().sum::<f64>() / s.len() as f64,
            })
        })
        .collect()
}

impl Chart<'_> {
    /// Renders the chart as an inline `<svg>` element.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let xm = self.minutes.max(1) as f64;
        let x = |min: f64| LEFT + pw * (min / xm).clamp(0.0, 1.0);
        let data_max = self
            .lines
            .iter()
            .flat_map(|l| l.values.iter().copied())
            .fold(0.0f64, f64::max);
        let y_max = if self.y_max > 0.0 {
            self.y_max
        } else {
            nice_max(data_max * 1.05)
        };
        let y = |v: f64| TOP + ph * (1.0 - (v / y_max).clamp(0.0, 1.0));
        let _ = write!(
            o,
            r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
            esc(self.title)
        );
        let _ = write!(
            o,
            r#"<text x="{LEFT}" y="16" class="t">{}</text>"#,
            esc(self.title)
        );
        for b in self.bands {
            let (x0, x1) = (x(b.start_min), x(b.end_min));
            let _ = write!(
                o,
                r#"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{ph}" fill="{}"><title>{} ({})</title></rect>"#,
                (x1 - x0).max(1.0),
                band_color(&b.kind),
                esc(&b.label),
                b.kind
            );
        }
        // Four gridlines, or five where a quarter would not be a round number (250 -> 50s).
        let ticks = if y_max >= 10.0 && (y_max / 4.0).fract() != 0.0 {
            5
        } else {
            4
        };
        for k in 0..=ticks {
            let v = y_max * k as f64 / ticks as f64;
            let yy = y(v);
            let label = if self.percent {
                format!("{:.0}%", v * 100.0)
            } else if y_max >= 10.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            };
            let _ = write!(
                o,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" class="a" text-anchor="end">{label}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                yy + 4.0
            );
        }
        let _ = write!(
            o,
            r#"<text x="12" y="{:.1}" class="a" transform="rotate(-90 12 {:.1})" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            esc(self.y_label)
        );
        for (d, label) in self.day_labels.iter().enumerate() {
            let xx = x(d as f64 * 1_440.0);
            let _ = write!(
                o,
                r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}" stroke="#bbb" stroke-dasharray="2,3"/><text x="{:.1}" y="{:.1}" class="a">{}</text>"##,
                TOP + ph,
                xx + 3.0,
                H - 10.0,
                esc(label)
            );
        }
        for mk in self.markers {
            let xx = x(mk.at_min);
            let _ = write!(
                o,
                r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}" stroke="#555" stroke-width="0.8"><title>{}</title></line>"##,
                TOP + ph,
                esc(&mk.label)
            );
        }
        let cols = pw as usize;
        for line in &self.lines {
            let pts = reduce(
                &line.values,
                cols.min(line.values.len().max(1)),
                line.reduce,
            );
            let step = pw / pts.len().max(1) as f64;
            let mut d = String::new();
            let mut pen_down = false;
            for (i, p) in pts.iter().enumerate() {
                match p {
                    Some(v) => {
                        let _ = write!(
                            d,
                            "{}{:.1},{:.1} ",
                            if pen_down { "L" } else { "M" },
                            LEFT + step * (i as f64 + 0.5),
                            y(*v)
                        );
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let _ = write!(
                o,
                r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.6"{}><title>{}</title></path>"#,
                d.trim_end(),
                line.color,
                if line.dashed {
                    r#" stroke-dasharray="5,3""#
                } else {
                    ""
                },
                esc(&line.name)
            );
        }
        // Legend, top right.
        let mut lx = W - RIGHT;
        for line in self.lines.iter().rev() {
            let w = 14.0 + 6.5 * line.name.len() as f64 + 14.0;
            lx -= w;
            let _ = write!(
                o,
                r#"<rect x="{lx:.1}" y="9" width="10" height="10" fill="{}"/><text x="{:.1}" y="18" class="a">{}</text>"#,
                line.color,
                lx + 14.0,
                esc(&line.name)
            );
        }
        o.push_str("</svg>");
        o
    }
}

/// The incident timeline: one lane per band kind, bands as labelled bars.
pub fn timeline(
    minutes: usize,
    day_labels: &[String],
    bands: &[Band],
    markers: &[Marker],
) -> String {
    let lanes = ["fault", "incident", "freeze"];
    let lane_h = 26.0;
    let h = TOP + lane_h * lanes.len() as f64 + BOTTOM + 10.0;
    let pw = W - LEFT - RIGHT;
    let xm = minutes.max(1) as f64;
    let x = |min: f64| LEFT + pw * (min / xm).clamp(0.0, 1.0);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart" viewBox="0 0 {W} {h}" role="img" aria-label="Incident timeline"><text x="{LEFT}" y="16" class="t">Incident timeline</text>"#
    );
    for (i, lane) in lanes.iter().enumerate() {
        let yy = TOP + lane_h * i as f64;
        let _ = write!(
            o,
            r##"<text x="{:.1}" y="{:.1}" class="a" text-anchor="end">{}</text><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            LEFT - 6.0,
            yy + 16.0,
            lane,
            W - RIGHT,
            yy + lane_h,
            yy + lane_h
        );
        for b in bands.iter().filter(|b| b.kind == *lane) {
            let (x0, x1) = (x(b.start_min), x(b.end_min));
            let solid = band_color(&b.kind)
                .replace("0.16", "0.75")
                .replace("0.14", "0.75")
                .replace("0.10", "0.45");
            let _ = write!(
                o,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{solid}"><title>{}</title></rect><text x="{:.1}" y="{:.1}" class="a">{}</text>"#,
                yy + 4.0,
                (x1 - x0).max(2.0),
                lane_h - 8.0,
                esc(&b.label),
                x0 + 2.0,
                yy + 16.0,
                if x1 - x0 > 40.0 {
                    esc(&b.label)
                } else {
                    String::new()
                }
            );
        }
    }
    let bottom = TOP + lane_h * lanes.len() as f64;
    for (d, label) in day_labels.iter().enumerate() {
        let xx = x(d as f64 * 1_440.0);
        let _ = write!(
            o,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{bottom:.1}" stroke="#bbb" stroke-dasharray="2,3"/><text x="{:.1}" y="{:.1}" class="a">{}</text>"##,
            xx + 3.0,
            bottom + 16.0,
            esc(label)
        );
    }
    for mk in markers {
        let xx = x(mk.at_min);
        let _ = write!(
            o,
            r##"<path d="M{xx:.1},{:.1} l-4,-7 h8 z" fill="#333"><title>{}</title></path>"##,
            bottom,
            esc(&mk.label)
        );
    }
    o.push_str("</svg>");
    o
}
