"""Moved to ``server/http/problems.py``; this name stays importable while routers move over."""

from server.http.problems import MEDIA_TYPE, Problem, install, problem_response, problem_type, responses

__all__ = ["MEDIA_TYPE", "Problem", "install", "problem_response", "problem_type", "responses"]
