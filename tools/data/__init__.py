"""Reading and preparing data: intake (load, profile, resolve columns) and the prepared
frame a model is fitted on."""
