"""Dataset builders: gold readers, target-sentence sources and the silver NER GeneratorBasedBuilder."""
