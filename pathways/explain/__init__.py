"""CNN interpretation (torch side): feature maps, occlusion, Grad-CAM, DeconvNet, rotation.

The methods follow the source material (Zeiler & Fergus's DeconvNet and occlusion study, their
rotation study, Grad-CAM). Occlusion, Grad-CAM and the DeconvNet projection come from Captum;
what Captum lacks — choosing the strongest activation to project, per-cluster mean maps, the
rotation study — is written here. Outputs are Parquet tables and NumPy arrays, readable without
torch (the explorer reads them).
"""
