"""Public cameras (雪亮工程): the registry, coverage of a fix, frames as alert evidence."""
