"""The analysis layer: signatures, differences, clusters, paths, layer divergence, novelty.

Pure numpy / pandas / scikit-learn (plus hdbscan and umap-learn): nothing here imports torch,
so it is fast to import and test, and works on any activation table pathways wrote. A library:
it knows nothing of the engine or the stages that run it (progress and fan-out stay in
:mod:`pathways.stages`), and nothing of :mod:`pathways.explain`.
"""
