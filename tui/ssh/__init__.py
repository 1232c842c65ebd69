"""SSH inventory, bootstrap and forwards: remote workers reached only through SSH."""
