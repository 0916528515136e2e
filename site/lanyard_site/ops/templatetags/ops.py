"""``{% writable ["short notice"] %}…{% endwritable %}``: a form, or while lanyard is read-only, a notice instead.

``{% flag "search" %}…{% else %}…{% endflag %}``: content behind a feature flag.
"""

from django import template
from django.utils.html import format_html

register = template.Library()


NOTICE = "This is read-only for a few minutes while lanyard is upgraded; please try again soon."


class WritableNode(template.Node):
    def __init__(self, nodelist, notice):
        self.nodelist, self.notice = nodelist, notice

    def render(self, context):
        state = context.get("read_only")
        if state is not None and state.on:
            if self.notice is None:
                return format_html('<p class="read-only-notice">{}</p>', NOTICE)
            notice = self.notice.resolve(context)
            return format_html('<span class="read-only-notice">{}</span>', notice) if notice else ""
        return self.nodelist.render(context)


@register.tag
def writable(parser, token):
    bits = token.split_contents()
    if len(bits) > 2:
        raise template.TemplateSyntaxError('{% writable ["short notice"] %} takes at most one argument')
    nodelist = parser.parse(("endwritable",))
    parser.delete_first_token()
    return WritableNode(nodelist, parser.compile_filter(bits[1]) if len(bits) == 2 else None)


class FlagNode(template.Node):
    def __init__(self, name, on, off):
        self.name, self.on, self.off = name, on, off

    def render(self, context):
        flags = context.get("flags")
        name = self.name.resolve(context)
        active = flags.active(name) if flags is not None else False
        return (self.on if active else self.off).render(context)


@register.tag
def flag(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError('{% flag "name" %} takes one flag name')
    on = parser.parse(("else", "endflag"))
    off = template.NodeList()
    if parser.next_token().contents == "else":
        off = parser.parse(("endflag",))
        parser.delete_first_token()
    return FlagNode(parser.compile_filter(bits[1]), on, off)
