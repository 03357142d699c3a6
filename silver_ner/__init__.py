"""silver-ner: silver NER data and models for low-resource languages by annotation projection."""

__version__ = "0.1.0"
