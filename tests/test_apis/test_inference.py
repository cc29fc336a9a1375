"""partseg.apis: init_model + inference_model on a tiny DisPart and a tiny GANSeg segmenter."""
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from partseg.apis import PartSegResult, inference_model, init_model
from partseg.utils.cli import UserError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DISPART_TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')
SEGMENTER_TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_segmenter_tiny.py')


def eq8_centroids(probs: np.ndarray) -> np.ndarray:
    """Eq. (8) by hand: (K, 2) probability-weighted mean of pixel centres (j + .5, i + .5)."""
    _, h, w = probs.shape
    rows, cols = np.mgrid[0:h, 0:w] + 0.5
    parts = probs[1:].astype(np.float64)
    mass = parts.sum((1, 2))
    return np.stack(((parts * cols).sum((1, 2)) / mass, (parts * rows).sum((1, 2)) / mass), 1)


def check_result(result: PartSegResult, height: int, width: int, num_parts: int = 4) -> None:
    assert result.part_probs.shape == (num_parts + 1, height, width)
    assert result.part_probs.dtype == np.float32
    np.testing.assert_allclose(result.part_probs.sum(0), 1.0, atol=1e-5)
    assert result.labels.shape == (height, width)
    np.testing.assert_array_equal(result.labels, result.part_probs.argmax(0))
    np.testing.assert_array_equal(result.fg_mask, result.labels != 0)
    assert result.fg_mask.dtype == bool
    assert result.centroids.shape == (num_parts, 2)
    present = np.isin(np.arange(1, num_parts + 1), result.labels)
    assert present.any()
    np.testing.assert_array_equal(np.isnan(result.centroids).any(1), ~present)
    found = result.centroids[present]
    assert ((found >= 0) & (found <= [width, height])).all()
    np.testing.assert_allclose(found, eq8_centroids(result.part_probs)[present], atol=1e-3)


def test_results_have_original_size_and_consistent_fields(dispart_model, image_folder, images):
    with pytest.warns(UserWarning, match='notes.txt'):
        results = inference_model(dispart_model, str(image_folder), batch_size=2)
    assert [r.img_path for r in results] == [str(image_folder / f'img{i}.png') for i in range(3)]
    for result, image in zip(results, images()):
        check_result(result, *image.shape[:2])
    # the parts depend on the image (a fixed layout would make the other checks vacuous)
    assert np.abs(results[0].part_probs - results[1].part_probs).max() > 1e-3
    assert len({tuple(r.labels.ravel()[::7]) for r in results[:2]}) == 2


def test_path_list_folder_glob_and_array_inputs_agree(dispart_model, image_folder, images):
    arrays = images()
    paths = [str(image_folder / f'img{i}.png') for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # notes.txt skipped
        from_folder = inference_model(dispart_model, image_folder)
    single_path = inference_model(dispart_model, paths[2])
    single_array = inference_model(dispart_model, arrays[2])
    assert isinstance(single_path, PartSegResult) and isinstance(single_array, PartSegResult)
    assert single_array.img_path is None
    candidates = dict(
        paths=inference_model(dispart_model, paths, batch_size=3),
        arrays=inference_model(dispart_model, arrays, batch_size=1),
        glob=inference_model(dispart_model, str(image_folder / 'img*.png')),
        mixed=inference_model(dispart_model, [paths[0], arrays[1], paths[2]]),
    )
    for name, results in candidates.items():
        assert len(results) == 3, name
        for got, expected in zip(results, from_folder):
            np.testing.assert_allclose(got.part_probs, expected.part_probs, atol=1e-5)
            np.testing.assert_array_equal(got.labels, expected.labels)
    np.testing.assert_allclose(single_path.part_probs, from_folder[2].part_probs, atol=1e-5)
    np.testing.assert_allclose(single_array.part_probs, from_folder[2].part_probs, atol=1e-5)


def test_model_is_ready_for_inference(dispart_model, dispart_checkpoint):
    assert not dispart_model.training
    assert dispart_model.cfg.filename.endswith('dispart_tiny.py')
    assert dispart_model.dataset_meta == dict(num_parts=4)
    saved = torch.load(dispart_checkpoint, weights_only=True)['state_dict']
    for key, value in dispart_model.state_dict().items():
        torch.testing.assert_close(value, saved[key])


def test_ganseg_stage2_segmenter(tmp_path, checkpoint_factory, images):
    checkpoint = checkpoint_factory(SEGMENTER_TINY, str(tmp_path / 'segmenter.pth'))
    model = init_model(SEGMENTER_TINY, checkpoint)
    assert type(model).__name__ == 'EncoderDecoder'
    arrays = images(seed=1)
    results = inference_model(model, arrays, batch_size=2)
    for result, image in zip(results, arrays):
        check_result(result, *image.shape[:2])
    # no resize in this test pipeline: the network sees the image itself, as in model.predict
    with torch.no_grad():
        inputs = torch.from_numpy(arrays[2]).permute(2, 0, 1).float()[None]
        logits = model(model.data_preprocessor(dict(inputs=list(inputs)))['inputs'], mode='tensor')
        logits = torch.nn.functional.interpolate(
            logits, size=arrays[2].shape[:2], mode='bilinear', align_corners=False)
    np.testing.assert_allclose(results[2].part_probs, logits[0].softmax(0).numpy(), atol=1e-5)


def test_checkpoint_of_other_k_is_refused(dispart_checkpoint):
    with pytest.raises(UserError, match=r'checkpoint .*dispart\.pth does not fit DisPart.*K'):
        init_model(
            DISPART_TINY,
            dispart_checkpoint,
            cfg_options={
                'model.num_parts': 3,
                'model.classification_loss.num_classes': 3
            })


def test_checkpoint_of_other_method_is_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(8, 3, 3, 3)}), path)
    with pytest.raises(UserError, match=r'other\.pth holds no weights of DisPart'):
        init_model(DISPART_TINY, str(path))


def test_bad_checkpoint_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(DISPART_TINY, str(tmp_path / 'missing.pth'))
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(b'PK\x03\x04 truncated')
    with pytest.raises(ValueError, match='broken.pth'):
        init_model(DISPART_TINY, str(broken))
    tensor_only = tmp_path / 'tensor.pth'
    torch.save(torch.zeros(3), tensor_only)
    with pytest.raises(ValueError, match='tensor.pth is not a partseg/MMEngine checkpoint'):
        init_model(DISPART_TINY, str(tensor_only))


def test_bad_images_name_the_input(dispart_model, tmp_path, images):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.md').write_text('no images here')
    with pytest.raises(ValueError, match='no images .* in folder .*empty'):
        inference_model(dispart_model, str(empty))
    with pytest.raises(FileNotFoundError, match=r'no file matches the pattern .*\*\.jpg'):
        inference_model(dispart_model, str(tmp_path / '*.jpg'))
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'\x89PNG\r\n\x1a\n but then nothing')
    with pytest.raises(ValueError, match='cannot read image .*corrupt.png'):
        inference_model(dispart_model, [str(corrupt)])
    with pytest.raises(ValueError, match=r'images\[1\] must be an \(H, W, 3\) uint8'):
        inference_model(dispart_model, [images()[0], np.zeros((8, 8), np.float32)])
    with pytest.raises(TypeError, match=r'images\[0\] must be a path'):
        inference_model(dispart_model, [3])
    with pytest.raises(ValueError, match='batch_size'):
        inference_model(dispart_model, images()[0], batch_size=0)
    # an image smaller than the network needs is resized like any other (issue 18.5)
    Image.fromarray(images()[0][:8, :8]).save(tmp_path / 'tiny.png')
    assert inference_model(dispart_model, str(tmp_path / 'tiny.png')).labels.shape == (8, 8)


def test_bad_config_and_device(tmp_path, images):
    with pytest.raises(UserError, match='config file not found'):
        init_model(str(tmp_path / 'nope.py'))
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        init_model(DISPART_TINY, device='gpu0')
    with pytest.raises(TypeError, match='config must be a file path or a Config'):
        init_model(42)
    with pytest.raises(ValueError, match='has no cfg'):
        inference_model(torch.nn.Linear(1, 1), images()[0])


def test_init_model_refuses_a_stage1_generator_config():
    """Issue 18.4: GANSeg's stage 1 'segmented' freshly generated samples, not the given images."""
    stage1 = osp.join(ROOT, 'configs', 'ganseg', 'cub_k8.py')
    with pytest.raises(
            UserError,
            match=r'builds GANSeg, an image generator \(stage 1\).*'
            r'cub_k8_stage2\.py, and its checkpoint'):
        init_model(stage1)


def test_small_images_are_resized_like_the_others():
    """Issue 18.5: an 8x8 image decodes, so it is segmented at the config's size."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(DISPART_TINY)
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    check_result(inference_model(model, image), 8, 8)
