"""Safe-return app (안심귀가): monitored walks home, SOS, guardians, protected persons and the 112 backstop."""
