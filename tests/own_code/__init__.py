"""Code written the way students write it, for the tests of the ways in (``from_book``…).

Written for these tests in the styles of *Deep Learning from Scratch* and cs231n — with their
habits (a backward that writes into the ``dout`` it receives, ``log(y + 1e-7)``, Dropout from
numpy's global generator, tuples as caches) — and not copied from either. Each module has the
correct classes and, as subclasses, the mistakes students make, one per class.
"""
