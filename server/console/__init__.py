"""The clerk console's server side: 代取号 on behalf, 绿色通道 grants, the call-back clock, transfer targets.

Routes are ``server/api/console.py``; the page is ``displays/templates/clerk.html`` with
``displays/static/clerk.js``.
"""
