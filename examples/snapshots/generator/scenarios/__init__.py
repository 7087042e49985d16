"""One module per bundled incident; each exposes `build() -> Bundle`."""
