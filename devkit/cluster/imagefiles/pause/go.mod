module chainlink-k8s.local/pause

go 1.22
