"""C code generation: one translation unit per compiled function."""
