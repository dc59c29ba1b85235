-- GET /v1/products/{id}/offers: a product offered by 24 stores, ranked (R2.1), as a buyer sees it.
local common = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
common.read(common.data().offers)
