import torch
x = 1 if 0 else(lambda: 2)
