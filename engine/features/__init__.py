"""Features: from what a creator knows before posting (and content cues) to a named, versioned vector."""
