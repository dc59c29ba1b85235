-- GET /v1/orders/{id}: one paid order (lines, money, payment, actions, deadlines), as its buyer sees it.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
common.read(common.data().order_detail)
