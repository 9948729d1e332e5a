# expect: forbidden
# a positional-only parameter shadowing a guard (CVE-2026-55830, fixed in RestrictedPython 8.3)
def solution():
    def inner(_getattr_, /):
        return ().__class__
    return inner(getattr)
