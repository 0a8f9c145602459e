extension Duration {
    /// The duration in seconds, with its fraction: for timings reported to users and metrics.
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

}
