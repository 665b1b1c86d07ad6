"""British English as the control room writes it: 24-hour times with seconds (Django's own en_GB
says "5:58 p.m."). Only the display formats differ from django/conf/locale/en_GB/formats.py, which
gives everything else; settings.FORMAT_MODULE_PATH points here, so every admin page (the audit
trail, records, incidents) and every `date`/`time` filter without a format shows the same clock."""

TIME_FORMAT = "H:i:s"  # '14:30:59'
DATETIME_FORMAT = "j M Y, H:i:s"  # '25 Oct 2006, 14:30:59'
SHORT_DATETIME_FORMAT = "d/m/Y H:i:s"  # '25/10/2006 14:30:59'
