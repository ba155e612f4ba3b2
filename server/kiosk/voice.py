"""The kiosk's spoken prompts, rendered by the server (espeak-ng, as the hall announcer does).

A browser's ``speechSynthesis`` has no Chinese voice on a typical offline Linux kiosk, so the
kiosk page plays WAVs from ``GET /api/kiosks/{id}/speech/{prompt}.wav`` instead. Prompts are a
fixed list filled only with a ticket number (read one character at a time, like a call), a
count or a number of minutes: no free text, so a masked name such as 张*三 can never be read
out ("星号"); a card session is greeted with 您好 only.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass

from displays.speech import number_zh, spell
from drivers.errors import DeviceFault
from server.errors import Refused, Unavailable

NUMBER = re.compile(r"^[A-Z]{0,3}[0-9]{1,5}$")

PROMPTS_ZH: dict[str, str] = {
    "welcome": "欢迎使用自助取号机。请将身份证放在感应区，或直接点击要办理的业务",
    "hello": "您好，请点击要办理的业务",
    "priority": "您好，您可享受优先服务，请点击要办理的业务",
    "ticket": "您的号码是{number}，{ahead}，请取走号票，留意叫号",
    "ticket_fault": ("您的号码是{number}。请记住您的号码{number}。"
                     "打印机暂时无法出票，请到咨询台领取纸质号票，已通知工作人员"),
    "printer_fault": "本机打印机暂时无法出票。取号后请记住号码，或到咨询台取号",
    "error": "取号没有成功，请点击重试，或到咨询台",
    "network": "网络繁忙，正在重试，请稍候",
    "offline": "网络连接中断，请到咨询台取号",
    "rate_limited": "取号过于频繁，请{minutes}分钟后再试",
    "per_person": "您今天已经取过号了，请留意叫号，或到咨询台",
    "help": "已通知工作人员，请稍候，工作人员马上就到",
    "card_refused": "此证件不能取号，请到咨询台",
    "read_failed": "读卡失败，请将身份证重新平放在感应区",
    "elderly_on": "已切换到长辈模式，字更大，选项更少",
    "unavailable": "此业务暂无窗口办理，请到咨询台",
}


@dataclass(frozen=True, slots=True)
class PromptArgs:
    """What a prompt may be filled with (checked: never free text)."""

    number: str | None = None
    ahead: int | None = None
    minutes: int | None = None


def unknown_prompt(prompt: str) -> Refused:
    """No such prompt."""
    return Refused("没有此语音提示", f"Unknown voice prompt: {prompt}", code="unknown_prompt")


def sentence(prompt: str, args: PromptArgs) -> str:
    """The Chinese sentence of ``prompt``; numbers spelled the way the hall announcer reads them."""
    template = PROMPTS_ZH.get(prompt)
    if template is None:
        raise unknown_prompt(prompt)
    number = spell(args.number) if args.number and NUMBER.match(args.number) else ""
    if "{number}" in template and not number:
        raise Refused("缺少号码", "This prompt needs a ticket number", code="unknown_prompt")
    ahead = "前面没有人" if not args.ahead else f"前面还有{number_zh(args.ahead)}人"
    minutes = number_zh(max(1, args.minutes or 1))
    return template.format(number=number, ahead=ahead, minutes=minutes)


class KioskVoice:
    """Renders prompts with espeak-ng (slow, for older citizens) and keeps the last few in memory."""

    def __init__(self, *, program: str = "espeak-ng", voice: str = "cmn", speed: int = 135,
                 items: int = 64) -> None:
        self.program = program
        self.voice = voice
        self.speed = speed
        self.items = items
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = asyncio.Lock()

    async def wav(self, text: str) -> bytes:
        """The WAV of ``text`` (cached)."""
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        async with self._lock:  # one espeak at a time: the kiosk box has few cores
            hit = self._cache.get(text)
            if hit is not None:
                return hit
            try:
                from drivers.announcer.espeak import espeak_wav  # numpy: only when a prompt is spoken

                data = await espeak_wav(text, program=self.program, voice=self.voice, speed=self.speed)
            except DeviceFault as exc:
                raise Unavailable("语音提示暂不可用", f"Voice guidance is not available ({exc.fault})",
                                  code="speech_unavailable") from exc
        self._cache[text] = data
        while len(self._cache) > self.items:
            self._cache.popitem(last=False)
        return data
