"""The getting-started example of the seed document (gallery/patterns/common.py),
as Python dman 1.0.1 runs it.

Run as a script from a workspace where it sits at `examples/patterns/common.py`
(the generator label `cache/examples:patterns:common` comes from that path),
it writes the tree of `tests/fixtures/getting-started/getting-started.zip`;
`make_getting_started.py` does exactly that. Imported, it gives the seed's
classes to the other scripts (`check_getting_started.py`, the Python bench).
"""
import dman
import numpy as np


@dman.storable(name="_num__barray")
class barray(np.ndarray):
    __ext__ = ".npy"

    def __write__(self, path):
        with open(path, "wb") as f:
            np.save(f, self)

    @classmethod
    def __read__(cls, path):
        with open(path, "rb") as f:
            return np.load(f).view(cls)


def barrayfield(**kwargs):
    def to_sarray(arg):
        if isinstance(arg, np.ndarray):
            return arg.view(barray)
        return arg
    return dman.recordfield(**kwargs, pre=to_sarray)


@dman.modelclass(name="config")
class Config:
    seed: int = 1234
    size: int = 20
    nsample: int = 1000
    nrepeats: int = 2


@dman.modelclass(name="run", storable=True)
class Run:
    config: Config
    data: barray = barrayfield(default=None)
    output: barray = barrayfield(default=None)


def execute(cfg: Config):
    with dman.track("experiment", default_factory=dman.mruns_factory(stem="experiment", subdir="results")) as content:
        if len(content) > 0 and any((run.config == cfg for run in content)):
            return
        rng = np.random.default_rng(cfg.seed)
        data = rng.random(size=(cfg.size, cfg.nsample))
        transform = rng.standard_normal(size=(100, data.shape[0]))
        output = transform @ data
        content.append(Run(cfg, data, output))


def main():
    with dman.track("experiment", default_factory=dman.mruns_factory(stem="experiment", subdir="results")) as content:
        content.clear()
    execute(Config(seed=1000))
    execute(Config(seed=1024))
    execute(Config(seed=1000))
    dman.save("config", Config(), cluster=False)
    dman.save("config", Config(), cluster=False, generator="demo")


if __name__ == "__main__":
    main()
