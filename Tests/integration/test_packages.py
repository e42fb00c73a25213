"""The side packages (Fuzz/ for make fuzz, bench/swift/ for make bench) resolve from a clone in a folder of
any name: SwiftPM names the project's package after its folder (issue 13, item 6)."""
import os
import shutil
import subprocess
import tempfile

import pytest
from pamtotp_it import ROOT


@pytest.mark.parametrize("package", ["Fuzz", "bench/swift"])
def test_side_package_resolves_in_a_folder_of_any_name(package):
    scratch = tempfile.mkdtemp(prefix="pamtotp-pkg-")
    try:
        clone = os.path.join(scratch, "Another-Name")
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", ROOT, clone], check=True)
        # The working tree's manifests, committed or not, are what is tested.
        for name in ("Package.swift", f"{package}/Package.swift"):
            shutil.copy(os.path.join(ROOT, name), os.path.join(clone, name))
        proc = subprocess.run(["swift", "package", "--package-path", os.path.join(clone, package), "--scratch-path",
                               os.path.join(scratch, ".build"), "describe"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        shutil.rmtree(scratch)
