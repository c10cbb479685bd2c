-- Argo CD health of a ChainlinkJob or a ChainlinkBridge: the same script serves both keys of argocd-cm,
-- resource.customizations.health.chainlink-k8s.github.io_ChainlinkJob and ..._ChainlinkBridge.
-- status.nodes holds one entry per targeted node, copied by the elected agent from that node's
-- ChainlinkPlacement; the resource is as healthy as its least healthy entry. An entry older than the spec
-- (observedGeneration) is still on its way.
local hs = {status = "Progressing", message = "no node has reported on this resource yet"}
if obj.status == nil or obj.status.nodes == nil or #obj.status.nodes == 0 then
  return hs
end
local generation = obj.metadata.generation or 0
local degraded, progressing, suspended, synced = {}, {}, {}, {}
for _, entry in ipairs(obj.status.nodes) do
  local phase = entry.phase or "Unknown"
  local said = entry.node .. ": " .. phase
  if entry.message ~= nil and entry.message ~= "" then
    said = said .. " (" .. entry.message .. ")"
  end
  if (entry.observedGeneration or 0) < generation then
    table.insert(progressing, entry.node .. ": generation " .. generation .. " not seen yet")
  elseif phase == "Invalid" or phase == "Error" then
    table.insert(degraded, said)
  elseif phase == "Synced" then
    table.insert(synced, entry.node)
  elseif phase == "Suspended" then
    table.insert(suspended, entry.node)
  else -- Pending, Deleting: the agent is working on it
    table.insert(progressing, said)
  end
end
if #degraded > 0 then
  hs.status, hs.message = "Degraded", table.concat(degraded, "; ")
elseif #progressing > 0 then
  hs.status, hs.message = "Progressing", table.concat(progressing, "; ")
elseif #synced == 0 then
  hs.status, hs.message = "Suspended", "spec.suspend is true: removed from " .. table.concat(suspended, ", ")
else
  hs.status, hs.message = "Healthy", "Synced on " .. table.concat(synced, ", ")
  if #suspended > 0 then
    hs.message = hs.message .. "; suspended on " .. table.concat(suspended, ", ")
  end
end
return hs
