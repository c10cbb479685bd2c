-- Argo CD health of a ChainlinkNode (argocd-cm key
-- resource.customizations.health.chainlink-k8s.github.io_ChainlinkNode). Its agent writes the status:
-- the Ready condition (watches synced, node API answering, key bundles imported) and the node's own
-- /health summary. A status older than the spec (observedGeneration) is still on its way.
local hs = {status = "Progressing", message = "the node's agent has not reported yet"}
local st = obj.status
if st == nil or st.conditions == nil then
  return hs
end
if (st.observedGeneration or 0) < (obj.metadata.generation or 0) then
  hs.message = "generation " .. obj.metadata.generation .. " not seen yet"
  return hs
end
for _, c in ipairs(st.conditions) do
  if c.type == "Ready" then
    if c.status ~= "True" then
      hs.status, hs.message = "Degraded", "not ready: " .. (c.message or "")
    elseif st.health ~= nil and (st.health.failing or 0) > 0 then
      local checks = table.concat(st.health.failingChecks or {}, ", ")
      hs.status, hs.message = "Degraded", st.health.failing .. " health check(s) failing: " .. checks
    else
      hs.status, hs.message = "Healthy", "ready, version " .. (st.version or "unknown")
    end
    return hs
  end
end
return hs
