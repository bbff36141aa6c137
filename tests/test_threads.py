"""CPU thread defaults under a cgroup CPU quota (cnnb.threads); no TensorFlow."""

from __future__ import annotations

from cnnb.threads import cpu_quota, fit_threads


def test_quota_from_cgroup_v2_and_v1_files(tmp_path):
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    assert cpu_quota(str(tmp_path)) == 3                       # 2.5 CPUs, rounded up
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(str(tmp_path)) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_quota(str(v1)) == 4
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_quota(str(v1)) is None
    assert cpu_quota(str(tmp_path / "missing")) is None


def test_threads_fit_a_quota_unless_the_user_chose():
    values = {"device": "cpu", "num_intra_threads": None, "num_inter_threads": 0}
    notes = fit_threads(values, set(), quota=4, cpus=64)
    assert (values["num_intra_threads"], values["num_inter_threads"]) == (4, 2)
    assert notes and "--num_intra_threads defaults to 4" in notes[0]
    for explicit, quota, device in ((set(), 64, "cpu"), (set(), 128, "cpu"),
                                    ({"num_intra_threads"}, 4, "cpu"), (set(), 4, "gpu")):
        values = {"device": device, "num_intra_threads": None, "num_inter_threads": 0}
        assert fit_threads(values, explicit, quota=quota, cpus=64) == []
        assert (values["num_intra_threads"], values["num_inter_threads"]) == (None, 0)
    values = {"device": "cpu", "num_intra_threads": None, "num_inter_threads": 3}
    fit_threads(values, {"num_inter_threads"}, quota=2, cpus=8)
    assert (values["num_intra_threads"], values["num_inter_threads"]) == (2, 3)
