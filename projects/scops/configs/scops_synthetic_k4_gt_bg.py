# SCOPS on the synthetic dataset with the ground-truth foreground as its saliency map: GANSeg's
# "SCOPS w/ GT BG" protocol (He et al. 2022, Table 2). The features V are zeroed outside the
# object, so the background channel takes the background and the K parts share the object.
# This uses a ground-truth annotation in training: it is not an unsupervised result.
#
#   python tools/train.py projects/scops/configs/scops_synthetic_k4_gt_bg.py
_base_ = ['./scops_synthetic_k4.py']

model = dict(
    saliency_field='gt_fg_mask',  # a data-sample field: PackPartInputs' (1, H, W) GT foreground
    # With the background features at 0, the reconstruction of the object's features must
    # outweigh the parts' spread for the parts to cover it.
    concentration_loss=dict(loss_weight=10.0),
    semantic_consistency_loss=dict(loss_weight=1000.0))
