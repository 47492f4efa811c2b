"""The experiment declaration: settings (strict, validated on load), model types, the starter
file of ``pathways init``, the open-set benchmark's protocols."""
