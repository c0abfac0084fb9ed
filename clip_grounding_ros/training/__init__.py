"""Training the small offline CLIP model that ships with the package (see models/)."""
