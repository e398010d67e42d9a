import torch
import torch.nn as nn
lstm = nn.LSTM(4, 8)
lstm.bias_ih_l0.chunk(10**10)
