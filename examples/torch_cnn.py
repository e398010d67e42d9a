"""A small ResNet-style CNN for 32x32 images (CIFAR-10) in PyTorch.

Residual stages of BasicBlocks separated by strided transition convolutions, a
1x1 conv head and a linear classifier.  Initialisation follows torchvision's ResNet:
Kaiming-normal convolutions, BatchNorm at (1, 0), small-normal linear weights and
zero biases.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding, no bias (a BatchNorm always follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)  # expect: fw=torch kind=conv init=none act=batchnorm out=false


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, planes):
        super().__init__()
        self.conv1 = conv3x3(planes, planes)  # expect-none: layer-returning helper, the site is inside conv3x3
        self.bn1 = nn.BatchNorm2d(planes)  # expect: fw=torch kind=norm init=default act=relu out=false
        self.conv2 = conv3x3(planes, planes)  # expect-none: layer-returning helper, the site is inside conv3x3
        self.bn2 = nn.BatchNorm2d(planes)  # expect: fw=torch kind=norm init=default act=relu out=false

    def forward(self, x):
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


class SmallResNet(nn.Module):
    def __init__(self, num_classes=10, blocks=(2, 2, 2), dropout=0.2):
        super().__init__()
        # stem: the conv keeps its default bias although a BatchNorm follows
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1)  # expect: fw=torch kind=conv init=default act=batchnorm out=false  # finds: BIA201
        self.bn1 = nn.BatchNorm2d(64)  # expect: fw=torch kind=norm init=default act=relu out=false
        self.layer1 = self._make_layer(64, blocks[0])
        self.down1 = nn.Sequential(
            nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False),  # expect: fw=torch kind=conv init=none act=batchnorm out=false
            nn.BatchNorm2d(128),  # expect: fw=torch kind=norm init=default act=relu out=false
            nn.ReLU(inplace=True),
        )
        self.layer2 = self._make_layer(128, blocks[1])
        self.down2 = nn.Sequential(
            nn.Conv2d(128, 256, 3, stride=2, padding=1, bias=False),  # expect: fw=torch kind=conv init=none act=batchnorm out=false
            nn.BatchNorm2d(256),  # expect: fw=torch kind=norm init=default act=relu out=false
            nn.ReLU(inplace=True),
        )
        self.layer3 = self._make_layer(256, blocks[2])
        self.head = nn.Sequential(
            nn.Conv2d(256, 512, kernel_size=1, bias=False),  # expect: fw=torch kind=conv init=none act=batchnorm out=false
            nn.BatchNorm2d(512),  # expect: fw=torch kind=norm init=default act=relu out=false
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(512, num_classes)  # expect: fw=torch kind=dense init=default act=softmax out=true

        self.apply(self._init_weights)
        # zero-init the last BN in each residual branch (Goyal et al. 2017)
        for m in self.modules():
            if isinstance(m, BasicBlock):
                nn.init.constant_(m.bn2.weight, 0)  # expect-none: BN gamma, not a bias

    @staticmethod
    def _make_layer(planes, n):
        return nn.Sequential(*[BasicBlock(planes) for _ in range(n)])

    def _init_weights(self, m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)  # expect: fw=torch kind=conv init=constant value=0 act=batchnorm out=false
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)  # expect-none: BN gamma, not a bias
            nn.init.constant_(m.bias, 0)  # expect: fw=torch kind=norm init=constant value=0 act=relu out=false
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.constant_(m.bias, 0)  # expect: fw=torch kind=dense init=constant value=0 act=unknown out=null

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.down1(x)
        x = self.layer2(x)
        x = self.down2(x)
        x = self.layer3(x)
        x = self.head(x)
        x = self.dropout(x)
        return self.fc(x)


def train_one_epoch(model, loader, optimizer, criterion, device):
    model.train()
    total, correct, running = 0, 0, 0.0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = criterion(logits, targets)
        loss.backward()
        optimizer.step()
        running += loss.item() * targets.size(0)
        correct += (logits.argmax(dim=1) == targets).sum().item()
        total += targets.size(0)
    return running / total, correct / total


if __name__ == '__main__':
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = SmallResNet(num_classes=10).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    fake = torch.utils.data.TensorDataset(torch.randn(256, 3, 32, 32), torch.randint(0, 10, (256,)))
    loader = torch.utils.data.DataLoader(fake, batch_size=64, shuffle=True)
    for epoch in range(2):
        loss, acc = train_one_epoch(model, loader, optimizer, criterion, device)
        print(f'epoch {epoch}: loss {loss:.3f} acc {acc:.3f}')
