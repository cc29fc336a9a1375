"""PartsegRunner: resume from the work dir given, never run a checkpoint's config code, the
config's optimizer settings on resume, one-line config errors (toy runs, CPU, a second each)."""
import os
import shutil

import pytest
import torch

from partseg.engine import PartsegRunner, find_latest_checkpoint, safe_load


@pytest.fixture(scope='module')
def four_iterations(tmp_path_factory, toy_runner):
    """A toy run of 4 iterations (checkpoints at 2 and 4) and the weights of an uninterrupted run
    of 6."""
    root = tmp_path_factory.mktemp('runner')
    toy_runner(root / 'four', max_iters=4).train()
    reference = toy_runner(root / 'six', max_iters=6)
    reference.train()
    return root / 'four', reference.model.state_dict()


def same_weights(model, reference) -> bool:
    return all(torch.equal(value, reference[key]) for key, value in model.state_dict().items())


def snapshot(folder):
    return {
        name: (folder / name).read_bytes()
        for name in sorted(os.listdir(folder)) if (folder / name).is_file()
    }


def test_moved_work_dir_resumes_its_own_checkpoints(four_iterations, toy_runner, tmp_path):
    four, reference = four_iterations
    moved = tmp_path / 'moved'
    original = tmp_path / 'original'
    shutil.copytree(four, original)
    (original / 'last_checkpoint').write_text(str(original / 'iter_4.pth'))  # trained there
    shutil.move(original, moved)  # the record still names .../original/iter_4.pth
    runner = toy_runner(moved, max_iters=6, resume=True)
    runner.train()
    assert runner.iter == 6 and same_weights(runner.model, reference)
    assert {'iter_2.pth', 'iter_4.pth', 'iter_6.pth'} <= set(os.listdir(moved))


def test_copied_work_dir_resumes_the_copy_and_leaves_the_original(four_iterations, toy_runner,
                                                                  tmp_path):
    four, reference = four_iterations
    original = tmp_path / 'original'
    shutil.copytree(four, original)
    (original / 'last_checkpoint').write_text(str(original / 'iter_4.pth'))  # trained there
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    before = snapshot(original)
    assert find_latest_checkpoint(str(copy)) == str(copy / 'iter_4.pth')
    runner = toy_runner(copy, max_iters=6, resume=True)
    runner.train()
    assert same_weights(runner.model, reference)
    assert snapshot(original) == before
    assert (copy / 'last_checkpoint').read_text() == str(copy / 'iter_6.pth')


def test_resume_without_checkpoints_starts_over(toy_runner, tmp_path):
    runner = toy_runner(tmp_path, max_iters=2, resume=True)
    runner.train()
    assert runner.iter == 2 and (tmp_path / 'iter_2.pth').is_file()


def test_config_code_in_a_checkpoint_is_not_run(four_iterations, toy_runner, tmp_path):
    four, reference = four_iterations
    marker = tmp_path / 'pwned'
    checkpoint = safe_load(four / 'iter_4.pth')
    # MMEngine 0.10.7's Runner.resume passes meta['config'] to Config.fromstring(.., '.py')
    checkpoint['meta']['config'] = (f"_ = __import__('pathlib').Path({str(marker)!r})"
                                    ".write_text('ran')\ngpu_ids = [0]\n")
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    torch.save(checkpoint, work_dir / 'iter_4.pth')
    for resume in (str(work_dir / 'iter_4.pth'), True):  # named, or found in the work dir
        runner = toy_runner(work_dir, max_iters=6, resume=resume)
        runner.train()
        assert not marker.exists()
        assert same_weights(runner.model, reference)
        os.remove(work_dir / 'iter_6.pth')


def param_group(runner) -> dict:
    return runner.optim_wrapper.optimizer.param_groups[0]


def test_resume_applies_the_configured_learning_rate(four_iterations, toy_runner, tmp_path):
    four, _ = four_iterations
    saved = safe_load(four / 'iter_4.pth')
    for lr in (0.1, 0.001):  # both directions
        work_dir = tmp_path / str(lr)
        shutil.copytree(four, work_dir)
        runner = toy_runner(
            work_dir, max_iters=4, resume=True, optimizer=dict(type='SGD', lr=lr, momentum=0.5))
        runner.train()
        group = param_group(runner)
        # the step schedule (x0.1 after iteration 3) keeps its progress on the new base LR
        assert group['lr'] == pytest.approx(lr * 0.1) and group['initial_lr'] == lr
        assert group['momentum'] == 0.5
        assert runner.param_schedulers[0].base_values == [lr]
        assert runner.param_schedulers[0].last_step == saved['param_schedulers'][0]['last_step']
        # the moments are the checkpoint's
        state = runner.optim_wrapper.optimizer.state_dict()['state']
        for index, moments in saved['optimizer']['state'].items():
            assert torch.equal(state[index]['momentum_buffer'], moments['momentum_buffer'])


def test_resume_without_schedule_uses_the_configured_adam_settings(toy_runner, tmp_path):
    adam = dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))
    toy_runner(tmp_path, max_iters=2, optimizer=adam, step_schedule=False).train()
    saved = safe_load(tmp_path / 'iter_2.pth')
    runner = toy_runner(
        tmp_path,
        max_iters=2,
        resume=True,
        optimizer=dict(adam, lr=1e-5, betas=(0.9, 0.99)),
        step_schedule=False)
    runner.train()
    group = param_group(runner)
    assert group['lr'] == 1e-5 and tuple(group['betas']) == (0.9, 0.99)
    state = runner.optim_wrapper.optimizer.state_dict()['state']
    for index, moments in saved['optimizer']['state'].items():
        assert torch.equal(state[index]['exp_avg_sq'], moments['exp_avg_sq'])


def test_resume_logs_what_changed(four_iterations, toy_runner, tmp_path, monkeypatch):
    four, _ = four_iterations
    shutil.copytree(four, tmp_path / 'work')
    runner = toy_runner(
        tmp_path / 'work',
        max_iters=4,
        resume=True,
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    logged = []
    monkeypatch.setattr(runner.logger, 'warning', logged.append)
    runner.train()
    changes = [line for line in logged if "the config's optimizer settings apply" in line]
    assert len(changes) == 1 and 'lr 0.1 (checkpoint: 0.01)' in changes[0]
    assert 'momentum' not in changes[0] and '\n' not in changes[0]


@pytest.mark.parametrize('train_cfg, message', [
    (dict(type='IterBasedTrainLoop', max_iters=-3), 'train_cfg.max_iters must be a positive'),
    (dict(type='IterBasedTrainLoop', max_iters=0), 'nothing is trained'),
    (dict(type='EpochBasedTrainLoop', max_epochs=1.5), 'train_cfg.max_epochs must be a positive'),
])
def test_non_positive_training_length_is_refused(train_cfg, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        PartsegRunner(model=torch.nn.Linear(1, 1), work_dir=str(tmp_path), train_cfg=train_cfg)
    assert os.listdir(tmp_path) == []  # refused before the runner wrote anything


def test_unknown_optimizer_names_the_key_and_the_choices(toy_runner, tmp_path):
    with pytest.raises(ValueError) as error:
        toy_runner(tmp_path, max_iters=2, optimizer=dict(type='Adamm', lr=0.1))
    message = str(error.value)
    assert message.startswith("optim_wrapper.optimizer.type='Adamm' is not a registered optimizer")
    assert 'Adam, AdamW' in message and '\n' not in message
    # one wrapper per sub-module: the key names the sub-module
    with pytest.raises(ValueError, match=r"optim_wrapper\.generator\.optimizer\.type='Adamm'"):
        PartsegRunner(
            model=torch.nn.Linear(1, 1),
            work_dir=str(tmp_path),
            optim_wrapper=dict(generator=dict(optimizer=dict(type='Adamm'))))
