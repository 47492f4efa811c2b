"""The analysis layer: signatures, differences, clusters, paths, layer divergence, novelty.

Pure numpy / pandas / scikit-learn (plus hdbscan and umap-learn): nothing here imports torch,
so it is fast to import and test, and works on any activation table pathways wrote.
"""
