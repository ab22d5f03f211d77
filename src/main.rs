fn main() {
    println!("cascade: the March 2025 replay is not there yet");
}
