"""PanDA-style workflow support shared by the compiler and the executor (placeholders, datasets, junctions)."""
