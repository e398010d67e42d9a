import torch.nn as nn
lstm = nn.LSTM(float('nan'), 8)
lstm.bias_hh_l0.data[n // float('nan'):n // None].fill_(None)
