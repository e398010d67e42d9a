import torch
import torch.nn as nn


def make():
    class M(nn.Module):
        def build(self):
            return make()

    return M().build()


make()
