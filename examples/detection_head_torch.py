"""RetinaNet-style dense detection heads (Lin et al. 2017, "Focal Loss for Dense
Object Detection").

Each head is four 3x3 conv + ReLU layers followed by a 3x3 prediction conv, shared
across the FPN levels.  The classification logits start at the class prior
pi = 0.01 (bias = -log((1 - pi) / pi)) so that the rare foreground anchors do not
swamp the focal loss in the first iterations; the box regression output starts at 0.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction='sum'):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


class RetinaNetClassificationHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes):
        super().__init__()
        conv = []
        for _ in range(4):
            conv.append(nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1))  # expect: fw=torch kind=conv init=default act=relu out=false
            conv.append(nn.ReLU())
        self.conv = nn.Sequential(*conv)

        for layer in self.conv.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.normal_(layer.weight, std=0.01)
                nn.init.constant_(layer.bias, 0)  # expect: fw=torch kind=conv init=constant value=0 act=relu out=false

        self.cls_logits = nn.Conv2d(in_channels, num_anchors * num_classes, kernel_size=3, stride=1, padding=1)  # expect: fw=torch kind=conv init=default act=sigmoid out=true
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        prior = 0.01  # foreground prior pi
        bias_value = -math.log((1 - prior) / prior)
        nn.init.constant_(self.cls_logits.bias, bias_value)  # expect: fw=torch kind=conv init=constant value=-4.59512 act=sigmoid out=true

        self.num_classes = num_classes
        self.num_anchors = num_anchors

    def forward(self, features):
        all_cls_logits = []
        for x in features:
            cls_logits = self.cls_logits(self.conv(x))
            # (N, A*K, H, W) -> (N, H*W*A, K)
            n, _, h, w = cls_logits.shape
            cls_logits = cls_logits.view(n, -1, self.num_classes, h, w)
            cls_logits = cls_logits.permute(0, 3, 4, 1, 2).reshape(n, -1, self.num_classes)
            all_cls_logits.append(cls_logits)
        return torch.cat(all_cls_logits, dim=1)


class RetinaNetRegressionHead(nn.Module):
    def __init__(self, in_channels, num_anchors):
        super().__init__()
        conv = []
        for _ in range(4):
            conv.append(nn.Conv2d(in_channels, in_channels, kernel_size=3, stride=1, padding=1))  # expect: fw=torch kind=conv init=default act=relu out=false
            conv.append(nn.ReLU())
        self.conv = nn.Sequential(*conv)

        self.bbox_reg = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=3, stride=1, padding=1)  # expect: fw=torch kind=conv init=default act=none out=true
        nn.init.normal_(self.bbox_reg.weight, std=0.01)
        nn.init.zeros_(self.bbox_reg.bias)  # expect: fw=torch kind=conv init=zeros value=0 act=none out=true

        for layer in self.conv.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.normal_(layer.weight, std=0.01)
                nn.init.zeros_(layer.bias)  # expect: fw=torch kind=conv init=zeros value=0 act=relu out=false

    def forward(self, features):
        all_bbox_regression = []
        for x in features:
            bbox_regression = self.bbox_reg(self.conv(x))
            n, _, h, w = bbox_regression.shape
            bbox_regression = bbox_regression.view(n, -1, 4, h, w)
            bbox_regression = bbox_regression.permute(0, 3, 4, 1, 2).reshape(n, -1, 4)
            all_bbox_regression.append(bbox_regression)
        return torch.cat(all_bbox_regression, dim=1)


class RetinaNetHead(nn.Module):
    def __init__(self, in_channels, num_anchors, num_classes):
        super().__init__()
        self.classification_head = RetinaNetClassificationHead(in_channels, num_anchors, num_classes)
        self.regression_head = RetinaNetRegressionHead(in_channels, num_anchors)

    def forward(self, features):
        return {
            'cls_logits': self.classification_head(features),
            'bbox_regression': self.regression_head(features),
        }

    def compute_loss(self, head_outputs, cls_targets, box_targets, foreground_mask):
        num_foreground = max(1, int(foreground_mask.sum()))
        cls_loss = sigmoid_focal_loss(head_outputs['cls_logits'], cls_targets, reduction='sum')
        box_loss = F.smooth_l1_loss(
            head_outputs['bbox_regression'][foreground_mask],
            box_targets[foreground_mask],
            beta=1.0 / 9.0,
            reduction='sum',
        )
        return {
            'classification': cls_loss / num_foreground,
            'bbox_regression': box_loss / num_foreground,
        }


if __name__ == '__main__':
    head = RetinaNetHead(in_channels=256, num_anchors=9, num_classes=80)
    feats = [torch.randn(2, 256, s, s) for s in (64, 32, 16, 8, 4)]
    out = head(feats)
    print({k: tuple(v.shape) for k, v in out.items()})
