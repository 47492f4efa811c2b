"""CNN interpretation (torch side): feature maps, occlusion, Grad-CAM, DeconvNet, rotation.

The methods follow the source material (Zeiler & Fergus's DeconvNet and occlusion study, their
rotation study, Grad-CAM). Occlusion, Grad-CAM and the DeconvNet projection come from Captum;
what Captum lacks — choosing the strongest activation to project, per-cluster mean maps, the
rotation study — is written here. A library of functions on a model and its inputs: the
``explain`` and ``rotation`` stages (:mod:`pathways.stages.explain`) store what they return as
Parquet tables and NumPy arrays, which the explorer reads without torch.
"""
