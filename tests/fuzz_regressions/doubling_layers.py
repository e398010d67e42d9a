import torch
import torch.nn as nn
layers = [nn.Linear(2, 2)]
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
layers = layers + layers
