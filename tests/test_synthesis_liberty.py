"""Liberty reading and locating: what the synthesis runner relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from archgym.errors import ConfigError
from archgym.simulators.eda.liberty import DEBIAN_OSU018, find_liberty, load_liberty, parse_liberty

TINY = r"""
/* a two-cell library */
library (tiny) {
  time_unit : "1ns";
  capacitive_load_unit (1, pf);
  lu_table_template (t) { variable_1 : input_net_transition; index_1 ("0.1, 0.2"); }
  cell (INV_A) {
    area : 3.5;
    pin (A) { direction : input; capacitance : 0.002; }
    pin (Y) { direction : output; function : "A'";
      timing () { related_pin : "A"; cell_rise (t) { values ("0.1, 0.2"); } }
    }
  }
  cell (BUF_B) {
    area : 5;
    pin (I) { direction : input; capacitance : 0.003; }
    pin (Z) { direction : output; function : "(I)"; }
  }
  cell (DFF) {
    area : 20;
    ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; }
    pin (D) { direction : input; }
    pin (CK) { direction : input; }
    pin (Q) { direction : output; function : "IQ"; }
  }
}
"""


def test_parse_tiny_library() -> None:
    lib = parse_liberty(TINY, Path("tiny.lib"))
    assert lib.name == "tiny" and sorted(lib.cells) == ["BUF_B", "DFF", "INV_A"]
    assert lib.buffer().name == "BUF_B" and lib.inverter().name == "INV_A"
    assert lib.fo4_load() == pytest.approx(0.008)
    assert lib.cells["DFF"].sequential and not lib.cells["BUF_B"].sequential
    assert lib.area_of({"INV_A": 2, "BUF_B": 1}) == pytest.approx(12.0)
    with pytest.raises(KeyError, match="NAND9"):
        lib.area_of({"NAND9": 1})


def test_library_without_buffer_is_a_config_error() -> None:
    lib = parse_liberty(TINY.replace('function : "(I)"', 'function : "!I"'), Path("tiny.lib"))
    with pytest.raises(ConfigError, match=r"'env.liberty'.*no buffer"):
        lib.buffer()
    with pytest.raises(ConfigError, match="not a Liberty library"):
        parse_liberty("module x; endmodule", Path("x.v"))
    with pytest.raises(ConfigError, match="unterminated"):
        parse_liberty(TINY.rstrip().rstrip("}"), Path("tiny.lib"))


def test_find_liberty_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARCHGYM_LIBERTY", raising=False)
    mine = tmp_path / "mine.lib"
    mine.write_text(TINY)
    assert find_liberty(mine) == mine.resolve()
    monkeypatch.setenv("ARCHGYM_LIBERTY", str(mine))
    assert find_liberty() == mine.resolve()
    with pytest.raises(ConfigError, match="does not exist"):
        find_liberty(tmp_path / "nope.lib")
    monkeypatch.delenv("ARCHGYM_LIBERTY")
    monkeypatch.setattr("archgym.simulators.eda.liberty.DEBIAN_OSU018", tmp_path / "absent.lib")
    with pytest.raises(ConfigError, match="apt-get install qflow-tech-osu018"):
        find_liberty()


@pytest.mark.skipif(not DEBIAN_OSU018.is_file(), reason="qflow-tech-osu018 not installed")
def test_osu018_default_library() -> None:
    lib = load_liberty()
    assert lib.name == "osu018_stdcells" and len(lib.cells) == 32
    assert (lib.buffer().name, lib.inverter().name) == ("BUFX2", "INVX1")
    assert lib.cells["FAX1"].area == 120.0 and lib.cells["INVX1"].area == 16.0
    assert len(lib.content_hash) == 64
