"""SMS notices: 即将到号, 请到X号窗口, 预约提醒 through a notifier port (log, HTTP gateway, GSM modem)."""
