"""The staff directory: who works in the hall (工号, 姓名, 所属单位, photo, windows, services, stars).

An account is a staff member (``server/auth/accounts.py``; its user name is the 工号). This
package adds the directory's reads and writes (``directory.py``), the photos (``photos.py``,
Pillow imported only when a photo is handled), the window screen's stars (``stars.py``) and the
demo hall's staff (``demo.py``). Routes: ``server/api/staff.py``.
"""
