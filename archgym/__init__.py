"""archgym: a gymnasium for machine-learning-assisted hardware design-space exploration."""

from pkgutil import extend_path

# Let archgym.envs / .simulators / ... resolve to the installed copy even when a plain
# (non-editable) install is used from inside the source tree, where ./archgym shadows it.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"


def _register_with_gymnasium() -> None:
    try:
        from archgym.gym_registration import register_envs
    except ImportError:  # gymnasium missing: archgym's non-gym parts still import
        return
    register_envs()


_register_with_gymnasium()
