# dmgbuild settings: the drag-to-Applications disk image around the .app that the spec's BUNDLE makes.
#
#   dmgbuild -s packaging/macos/dmg_settings.py -D app="dist/Virality Studio.app" \
#            "Virality Studio" dist/ViralityStudio-0.1.0.dmg
#
# dmgbuild runs this file with `defines` (the -D values) in scope. Signing and notarisation: README.md here.
import os.path

application = defines.get("app", "dist/Virality Studio.app")  # noqa: F821  (provided by dmgbuild)
appname = os.path.basename(application)

format = defines.get("format", "UDZO")  # noqa: F821  zlib: mounts fast; UDBZ/ULFO are smaller and slower
filesystem = "HFS+"
size = None  # computed from the contents

files = [application]
symlinks = {"Applications": "/Applications"}
icon = os.path.join(os.path.dirname(os.path.abspath(application)), appname, "Contents", "Resources",
                    "virality-studio.icns")
if not os.path.isfile(icon):
    icon = None  # the volume gets the default icon rather than failing the build

background = "builtin-arrow"
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
window_rect = ((200, 120), (640, 300))
default_view = "icon-view"
show_icon_preview = False
arrange_by = None
icon_size = 128
text_size = 13
icon_locations = {appname: (150, 130), "Applications": (490, 130)}
