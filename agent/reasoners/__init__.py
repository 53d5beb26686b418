"""The two reasoners behind one interface: offline (deterministic) and LLM-backed."""
