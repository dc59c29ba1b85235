-- GET /v1/orders: the first page (the default 50, newest first) of a buyer who has 200 orders.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
common.read(common.data().orders_list)
