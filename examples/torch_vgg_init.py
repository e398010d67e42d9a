"""A VGG-style CNN for 32x32 images (CIFAR-10) in PyTorch, after torchvision's VGG.

torchvision's ``_initialize_weights`` starts every bias at 0; this copy was changed to start the
fully-connected biases at 1, the value of the TF1 VGG16 file it was compared with (which took
it from AlexNet). Weights are Kaiming-normal, so the ReLUs need no positive push.
"""
import torch.nn as nn


class VGG(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1),  # expect: fw=torch kind=conv init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=1),  # expect: fw=torch kind=conv init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),  # expect: fw=torch kind=conv init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, 3, padding=1),  # expect: fw=torch kind=conv init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(128 * 8 * 8, 512),  # expect: fw=torch kind=dense init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(512, 512),  # expect: fw=torch kind=dense init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(512, num_classes),  # expect: fw=torch kind=dense init=default act=none out=true
        )
        self._initialize_weights()

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)  # expect: fw=torch kind=conv init=constant value=0 act=relu out=false
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.constant_(m.bias, 1)  # expect: fw=torch kind=dense init=constant value=1 act=relu out=false  # finds: BIA101,BIA301
