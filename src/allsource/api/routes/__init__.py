"""One router per resource; ``allsource.api.app`` mounts them under ``API_PREFIX``."""
